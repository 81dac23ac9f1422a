#!/usr/bin/env node
// The published entry point: runs the bundled CLI (npm run build writes dist/bundle/).
import { main } from '../dist/bundle/cli.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`vnfpipe: unexpected error: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
