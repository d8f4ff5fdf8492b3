// The web server of the corpus's background traffic: answers every request with a short page.
// Arguments: the address to listen on, the port.
import { createServer } from 'node:http';

const [address, port] = process.argv.slice(2);
createServer((_, res) => res.end('hello\n')).listen(Number(port), address);
