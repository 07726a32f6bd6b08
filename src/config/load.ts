import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { Errors } from '../errors.js';
import { type Config, configKeys, configSchema } from './schema.js';

type RawConfig = Record<string, unknown>;

/** Environment values for the keys camrelay knows; an empty value counts as unset, as in compose files. */
function fromEnv(env: NodeJS.ProcessEnv): RawConfig {
  const raw: RawConfig = {};
  for (const key of Object.keys(configKeys.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return raw;
}

function fromFile(file: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Errors.CONFIG_INVALID(`CONFIG_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('it must hold one JSON object of KEY: value');
    }
    return parsed as RawConfig;
  } catch (err) {
    throw new Errors.CONFIG_INVALID(`CONFIG_FILE: ${file} is not valid: ${(err as Error).message}`);
  }
}

/** One line per problem, each naming its key: operators fix them all in one go. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => `  ${key}: is not a camrelay setting`).join('\n');
      }
      // Settings are flat: name the variable, not an index inside its value.
      const key = String(issue.path[0] ?? '(config)');
      return `  ${key}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * Reads the configuration once: CONFIG_FILE (if set) overlaid by the environment, validated by one schema.
 * Throws CAMRELAY_ERR_CONFIG_INVALID listing every bad key. The result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = env.CONFIG_FILE ? fromFile(env.CONFIG_FILE) : {};
  const result = configSchema.safeParse({ ...file, ...fromEnv(env) });
  if (!result.success) throw new Errors.CONFIG_INVALID(describeIssues(result.error.issues));
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
