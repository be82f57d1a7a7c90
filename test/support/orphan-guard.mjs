// Preloaded (`node --import`) into every process the e2e tests fork (test/support/processes.ts).
// When the test runner goes away without killing its children (a crash, a SIGKILL), the IPC channel
// closes: stop gracefully, and for sure within a few seconds, instead of living on as an orphan.
if (typeof process.send === 'function') {
  process.on('disconnect', () => {
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 5000).unref();
    process.kill(process.pid, 'SIGTERM');
  });
  // The listener above must not keep a process alive that would otherwise exit.
  process.channel?.unref();
}
