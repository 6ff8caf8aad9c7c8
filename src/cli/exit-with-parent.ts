// Loaded into the API and the worker by `npm start` (node --import): if npm start itself dies
// without stopping them (SIGKILL, a crash), its IPC channel closes, and the service stops as on
// SIGTERM instead of running on as an orphan.
if (process.channel) {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel must not keep the process alive by itself once the service has closed.
  process.channel.unref();
}
