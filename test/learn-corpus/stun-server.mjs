// A STUN server (RFC 5389 binding requests only) for the learn-mode corpus: it tells the phone the address and
// port its request came from, that is the gateway's public mapping. Arguments: the address and port to bind.
import { createSocket } from 'node:dgram';

const [address, portText] = process.argv.slice(2);
const COOKIE = 0x2112a442;
const socket = createSocket('udp4');
socket.on('message', (request, from) => {
  // A binding request: type 0x0001, the magic cookie, a 12-byte transaction id; anything else is ignored.
  if (request.length < 20 || request.readUInt16BE(0) !== 0x0001 || request.readUInt32BE(4) !== COOKIE) return;
  const ip = from.address.split('.').map(Number);
  const ipValue = ((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0;
  const reply = Buffer.alloc(20 + 12 + 12);
  reply.writeUInt16BE(0x0101, 0);
  reply.writeUInt16BE(24, 2);
  request.copy(reply, 4, 4, 20);
  // MAPPED-ADDRESS for old clients, XOR-MAPPED-ADDRESS for new ones.
  reply.writeUInt16BE(0x0001, 20);
  reply.writeUInt16BE(8, 22);
  reply.writeUInt16BE(0x0001, 24);
  reply.writeUInt16BE(from.port, 26);
  reply.writeUInt32BE(ipValue, 28);
  reply.writeUInt16BE(0x0020, 32);
  reply.writeUInt16BE(8, 34);
  reply.writeUInt16BE(0x0001, 36);
  reply.writeUInt16BE(from.port ^ (COOKIE >>> 16), 38);
  reply.writeUInt32BE((ipValue ^ COOKIE) >>> 0, 40);
  socket.send(reply, from.port, from.address);
});
socket.bind(Number(portText), address);
