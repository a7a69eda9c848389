import http from 'node:http';
import net from 'node:net';
import { drainable } from '../src/http/drain';

/** Sends `request` on `socket` and answers everything the server writes until it closes the connection. */
function exchange(socket: net.Socket, request: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.write(request);
  });
}

it('serves a request that arrives on a connection accepted before the stop, refuses new connections, and resolves once all are closed', async () => {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('done'), 50));
  const { drain } = drainable(server);
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  // Connected, but no request yet: Node's own close() would destroy this connection at once.
  const early = net.connect(port, '127.0.0.1');
  await accepted;
  // Served once before, now idle on keep-alive: closed as soon as the stop begins.
  const idle = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve) => http.get({ port, host: '127.0.0.1', agent: idle }, (res) => res.resume().on('end', resolve)));

  const drained = drain();
  const answer = await exchange(early, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(answer).toMatch(/\r\nConnection: close\r\n/i);
  expect(answer).toMatch(/done$/);
  await expect(new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await drained;
  idle.destroy();
});
