import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * helmet's security headers, made once. @fastify/helmet builds helmet's middleware again on every request
 * (parsing every option, the CSP directives included), which was about 8 % of the relay's CPU while it
 * served HLS. The headers depend on the options alone, so they are recorded from one request to a private
 * instance with the plugin at start-up, and then set on every answer as helmet sets them: on the raw
 * response, before any other hook runs, so errors and 404s carry them too.
 */
export async function registerSecurityHeaders(
  app: FastifyInstance,
  options: FastifyHelmetOptions,
): Promise<void> {
  const headers = await helmetHeaders(options);
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
}

/** The headers helmet adds with these options: those of an answer with the plugin, less those of one without. */
export async function helmetHeaders(options: FastifyHelmetOptions): Promise<Array<[string, string]>> {
  const answer = async (withHelmet: boolean) => {
    const probe = Fastify();
    if (withHelmet) await probe.register(helmet, options);
    probe.get('/', async () => 'probe');
    try {
      return (await probe.inject('/')).headers;
    } finally {
      await probe.close();
    }
  };
  const [withHelmet, without] = await Promise.all([answer(true), answer(false)]);
  return Object.entries(withHelmet)
    .filter(([name]) => !(name in without))
    .map(([name, value]) => [name, String(value)]);
}
