// The floor under `deno task bench webhook`: what this machine's HTTP stack costs with no work
// at all. Serves empty TwiML on FLOOR_PORT and, on PROXY_PORT, the gateway's own proxy
// (dev/stack/gateway.ts proxyTo) in front of it, so the same load generator measures "one hop doing
// nothing" and "two hops doing nothing" in the same run as the real webhook path.
import { proxyTo } from '../stack/gateway.ts';
import { EMPTY_TWIML } from '../../functions/_shared/webhook.ts';

const floorPort = Number(Deno.env.get('FLOOR_PORT'));
const proxyPort = Number(Deno.env.get('PROXY_PORT'));
Deno.serve({ hostname: '127.0.0.1', port: floorPort, onListen: () => {} }, async (req) => {
  await req.arrayBuffer();
  return new Response(EMPTY_TWIML, { headers: { 'content-type': 'text/xml' } });
});
const proxy = proxyTo(`http://127.0.0.1:${floorPort}`);
Deno.serve(
  { hostname: '127.0.0.1', port: proxyPort, onListen: () => console.log('ready') },
  (req, info) => proxy(req, new URL(req.url).pathname, info),
);
