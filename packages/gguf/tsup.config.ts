import { libraryConfig } from '../../tsup.base';

// `bytes`: the byte-level helpers, kept off the main entry. Shared chunks keep one copy of each class.
export default libraryConfig({ entry: { index: 'src/index.ts', bytes: 'src/bytes.ts' }, splitting: true });
