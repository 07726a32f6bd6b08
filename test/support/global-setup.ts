import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/log.js';
import { startEmbeddedRedis } from '../../src/redis/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One real Redis for the whole run; each test works under its own key prefix. A Docker engine, where one
 * is reachable, runs it through testcontainers; elsewhere (these machines) the tests start their own
 * redis-server, never the machine's shared one.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const container = await startContainerRedis();
  if (container) {
    project.provide('redisUrl', container.url);
    return container.stop;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'camrelay-test-redis-'));
  const redis = await startEmbeddedRedis(dir, createLogger('silent'));
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

async function startContainerRedis(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return null;
  }
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    stop: async () => {
      await container.stop();
    },
  };
}
