import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const dirs: string[] = [];
const home = () => {
  const d = mkdtempSync(join(tmpdir(), 'ibkr-journal-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('order journal', () => {
  test('separate processes racing the same ids: each id begun once', async () => {
    const h = home();
    const script = `
      import { Journal } from ${JSON.stringify(join(import.meta.dirname, '../../src/safety/journal.ts'))};
      const j = new Journal(process.argv[1]);
      let won = 0;
      for (let i = 0; i < 40; i++) {
        try { j.begin({ accountId: 'DU1', conid: 1, secType: 'STK', symbol: 'A', side: 'BUY', orderType: 'MKT',
          quantity: 1, tif: 'DAY', outsideRth: false, clientOrderId: 'id-' + i }, 'PAPER'); won++; } catch {}
      }
      console.log(won);`;
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<number>((resolve, reject) => {
            execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, h], (err, out) =>
              err ? reject(err) : resolve(Number(out.trim())),
            );
          }),
      ),
    );
    assert.equal(
      runs.reduce((s, n) => s + n, 0),
      40,
    );
    const attempts = readFileSync(join(h, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.includes('"ev":"attempt"'));
    assert.equal(attempts.length, 40);
  });
});
