import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Integration tests wait on real cameras and ffmpeg; time limits are generous, never a measure of speed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: two test files at once keeps ffmpeg and the cameras from starving each other.
    maxWorkers: 2,
  },
});
