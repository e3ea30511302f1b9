// Runs s3rver (from bench/.deps) in its own process so its CPU time and memory
// can be read from /proc like the SmartStorage binary's. Prints one JSON line
// {"port":N,"readyMs":T} on stdout once it answers, where readyMs is the time
// from the start of this script (module import included) to run() resolving;
// exits when stdin ends.
//   node bench/s3rver-child.mjs <s3rver main path> <directory> [port]
import { pathToFileURL } from 'node:url';

const t0 = performance.now();
const [mainPath, directory, port = '0'] = process.argv.slice(2);
const { default: S3rver } = await import(pathToFileURL(mainPath).href);
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port, readyMs: performance.now() - t0 })}\n`);
process.stdin.on('end', () => {
  server.close().finally(() => process.exit(0));
});
process.stdin.resume();
