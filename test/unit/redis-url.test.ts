import { describe, expect, it } from 'vitest';
import { redisOptionsFromUrl } from '../../src/redis/connection.js';

describe('redisOptionsFromUrl', () => {
  it('reads host, port, credentials and database', () => {
    expect(redisOptionsFromUrl('redis://app:s%40cret@redis.internal:6380/2')).toEqual({
      host: 'redis.internal',
      port: 6380,
      username: 'app',
      password: 's@cret',
      db: 2,
    });
  });

  it('turns on TLS for rediss:// and reads unix sockets', () => {
    expect(redisOptionsFromUrl('rediss://redis.internal').tls).toEqual({});
    expect(redisOptionsFromUrl('unix:///var/run/camrelay/redis.sock')).toEqual({
      path: '/var/run/camrelay/redis.sock',
    });
  });
});
