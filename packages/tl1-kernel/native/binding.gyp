{
  "targets": [
    {
      "target_name": "tl1",
      "sources": [
        "native/tl1.c",
        "native/ternary.c",
        "native/ternary_panel.c",
        "native/activations.c",
        "native/dense.c",
        "native/attention.c",
        "native/pool.c",
        "native/cpu.c"
      ],
      "include_dirs": ["include"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-O2", "-O1", "-Os", "-ffast-math", "-fno-omit-frame-pointer"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-pthread", "-fvisibility=hidden", "-Wall", "-Wno-unused-function"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-pthread"]
      }
    }
  ]
}
