/** Answers written on a bare socket, where Node or a protocol edge leaves no request object to reply through. */
import type { Socket } from 'node:net';
import { SECURITY_HEADER_LINES } from './security-headers.js';

const STATUS_LINE: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
};

/**
 * Answers on a bare socket (no request object to reply through) in the service's error shape, then closes
 * it. The answer to a HEAD carries the headers only: a body after them would be read as the next response.
 */
export function answerAndClose(socket: Socket, status: number, code: string, message: string, error?: Error, head = false): void {
  const body = JSON.stringify({ statusCode: status, error: STATUS_LINE[status], message, code });
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !response?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_LINE[status]}\r\nContent-Type: application/json; charset=utf-8\r\n${SECURITY_HEADER_LINES}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  }
  socket.destroy(error);
}

/** Whether the bytes Node could not parse began a HEAD request (as far as they tell). */
export const isHeadRequest = (error: Error & { rawPacket?: Buffer }): boolean => error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
