// A worker thread of the fan-out bench: `clients` socket.io-client connections plus its own Redis
// subscription to the service's event channel. Latency = an event's arrival at a client - its arrival
// on this thread's Redis subscription, both stamped on this thread (so the pub/sub path cancels out).
import { parentPort, workerData } from 'node:worker_threads';
import { io } from 'socket.io-client';
import { eventFeed } from './events.js';

const { service, clients } = workerData;
const now = () => performance.timeOrigin + performance.now(); // comparable across threads

const feed = await eventFeed(service);
const published = new Map();
let publishedCount = 0;
feed.on((m) => {
  published.set(`${m.jobId}#${m.data.sequence}`, now());
  publishedCount += 1;
});

let latencies = new Float64Array(1 << 16);
let measured = 0;
let delivered = 0;
let first = Infinity;
let last = 0;
const sockets = [];
for (let i = 0; i < clients; i++) {
  const socket = io(`${service.url}/jobs/stream`, { transports: ['websocket'], reconnection: false });
  socket.on('job_update', (u) => {
    const at = now();
    delivered += 1;
    if (at < first) first = at;
    if (at > last) last = at;
    const sent = published.get(`${u.job_id}#${u.data.sequence}`);
    if (sent === undefined) return;
    if (measured === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[measured++] = at - sent;
  });
  sockets.push(
    new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    }),
  );
}
const connected = await Promise.all(sockets);
parentPort.postMessage({ kind: 'connected', clients: connected.length });

const progress = setInterval(() => parentPort.postMessage({ kind: 'progress', delivered, publishedCount }), 250);
parentPort.on('message', (message) => {
  if (message !== 'finish') return;
  clearInterval(progress);
  for (const socket of connected) socket.close();
  feed.close();
  const out = latencies.slice(0, measured);
  parentPort.postMessage({ kind: 'finished', delivered, publishedCount, first, last, latencies: out }, [out.buffer]);
});
