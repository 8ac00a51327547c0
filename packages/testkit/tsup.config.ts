import { libraryConfig } from '../../tsup.base';

// `./llama-cpp` is a separate entry so that bundling the main entry (the CLI does) never pulls in node-llama-cpp.
export default libraryConfig({ entry: ['src/index.ts', 'src/llama-cpp.ts'], external: ['node-llama-cpp'] });
