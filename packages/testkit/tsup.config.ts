import { libraryConfig } from '../../tsup.base';

// `./llama-cpp` is a separate entry so that bundling the main entry (the CLI does) never pulls in node-llama-cpp;
// `./bitnet-cpp` (a model file as bitnet.cpp writes it) and `./bitnet-checkpoints` (Hugging Face BitNet
// checkpoints) are ones so that tests alone carry them.
export default libraryConfig({
  entry: ['src/index.ts', 'src/llama-cpp.ts', 'src/bitnet-cpp.ts', 'src/bitnet-checkpoints.ts'],
  external: ['node-llama-cpp'],
});
