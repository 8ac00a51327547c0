import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`trit: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.TRIT_DEBUG && error instanceof Error) console.error(error.stack);
    process.exitCode = 1;
  },
);
