/** The V8 flags the server runs with (why: src/cli.ts). Set first, before the heap grows. */
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS = ['--semi-space-growth-factor=1', '--no-turbofan', '--no-maglev', '--liftoff-only'] as const;

export function tuneV8(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
