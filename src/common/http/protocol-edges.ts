/**
 * Requests Node's HTTP server would answer by itself, with an empty body or none at all, answered in
 * the service's error shape instead (DESIGN §6: every refusal has a `code` and a message):
 * - `Expect:` other than `100-continue`: 417 (Node's own answer had no body);
 * - `CONNECT`: 405 (Node closed the connection without a word);
 * - an `Upgrade:` request to a path that is not Socket.IO's: `h2c` (what `curl --http2` sends for an
 *   http:// URL) is served as the plain HTTP/1.1 request it also is, as RFC 9113 lets a server do;
 *   a WebSocket gets a 404 naming where the live updates are, anything else a 400. Without this the
 *   request waited a second and was dropped (Socket.IO's engine ends upgrades it does not own).
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { BAD_HTTP_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND } from '../domain/error-codes.js';
import { answerAndClose } from './socket-answers.js';
import { hasBody } from './no-body.js';

/** Where Socket.IO's engine answers (its default path): upgrades there are its own. */
const SOCKET_IO_PATH = '/socket.io/';

export function installProtocolEdges(server: Server): void {
  server.on('checkExpectation', (request: IncomingMessage) => {
    const expect = String(request.headers.expect ?? '').slice(0, 100);
    answerAndClose(request.socket, 417, BAD_HTTP_REQUEST, `the Expect header "${expect}" cannot be met: send the request without it (only 100-continue is understood)`, undefined, request.method === 'HEAD');
  });
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    answerAndClose(socket, 405, METHOD_NOT_ALLOWED, 'CONNECT is not supported: this is not a proxy');
  });
  server.on('upgrade', (request: IncomingMessage, socket: Socket) => {
    if ((request.url ?? '').startsWith(SOCKET_IO_PATH)) return; // Socket.IO's engine takes it
    const protocol = String(request.headers.upgrade ?? '').toLowerCase();
    if (protocol === 'h2c' && !hasBody(request.headers)) return serveAsHttp11(server, request, socket);
    if (protocol === 'websocket') {
      const where = `live updates are Socket.IO, namespace /jobs/stream (path ${SOCKET_IO_PATH})`;
      return answerAndClose(socket, 404, NOT_FOUND, `no WebSocket endpoint at ${String(request.url).slice(0, 200)}: ${where}`);
    }
    answerAndClose(socket, 400, BAD_HTTP_REQUEST, `upgrading to "${protocol.slice(0, 100)}" is not supported here: send the request without the Upgrade header`);
  });
}

/** Answers the request through the ordinary handler, on a connection that closes after it. */
function serveAsHttp11(server: Server, request: IncomingMessage, socket: Socket): void {
  const response = new ServerResponse(request);
  response.shouldKeepAlive = false;
  response.assignSocket(socket);
  response.on('finish', () => {
    response.detachSocket(socket);
    socket.end();
  });
  // Node hands an upgrade request over without its end: a request without a body has ended.
  request.push(null);
  server.emit('request', request, response);
}
