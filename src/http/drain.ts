import net from 'node:net';
import type { Server, ServerResponse } from 'node:http';

/** How long a connection accepted but not yet carrying a request is waited for once the server is stopping. */
const FIRST_REQUEST_GRACE_MS = 2000;
const CHECK_EVERY_MS = 100;

interface ConnectionState {
  accepted: number;
  /** Responses in flight on the connection. */
  active: Set<ServerResponse>;
  served: number;
}

/**
 * Graceful stop of an HTTP server: `drain()` stops accepting connections, lets every request in
 * flight finish (each answer then closes its connection), closes keep-alive connections as soon
 * as they are idle, and resolves once all are closed. Call it at start, before connections come.
 *
 * Node's own `server.close()` would also destroy, at once, every connection on which no request
 * has been parsed yet, including those whose request is already on the wire when the process is
 * busy: under load those clients would see a reset for a request they sent before the stop.
 * Here such a connection gets `FIRST_REQUEST_GRACE_MS` to deliver its request, and connections
 * the kernel has queued by the time the stop begins are accepted and served.
 */
export function drainable(server: Server): { drain(): Promise<void> } {
  const connections = new Map<net.Socket, ConnectionState>();
  let draining = false;
  server.on('connection', (socket: net.Socket) => {
    connections.set(socket, { accepted: Date.now(), active: new Set(), served: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (req, res) => {
    // While draining, every answer closes its connection, so no client sends another request on
    // it that the closing server would never read.
    if (draining && !res.headersSent) res.setHeader('Connection', 'close');
    const state = connections.get(req.socket);
    if (!state) return;
    state.active.add(res);
    res.once('close', () => {
      state.active.delete(res);
      state.served++;
    });
  });
  const closeIdle = () => {
    const now = Date.now();
    for (const [socket, state] of connections) {
      if (state.active.size === 0 && (state.served > 0 || now - state.accepted > FIRST_REQUEST_GRACE_MS)) socket.destroy();
    }
  };
  return {
    drain: () =>
      new Promise((resolve) => {
        draining = true;
        for (const state of connections.values()) {
          for (const res of state.active) if (!res.headersSent) res.setHeader('Connection', 'close');
        }
        const timer = setInterval(closeIdle, CHECK_EVERY_MS);
        // After this turn of the event loop, which accepts the connections the kernel already
        // queued (clients that connected before the stop): closing at once would reset them.
        setImmediate(() => {
          net.Server.prototype.close.call(server, () => {
            clearInterval(timer);
            resolve();
          });
          closeIdle();
        });
      }),
  };
}
