/**
 * A second process for the file driver's cross-process tests (spawned by file.test.ts).
 *   cas ROOT KEY N START_AT          N compare-and-swap increments, starting at START_AT (ms epoch)
 *   create ROOT KEYS START_AT ID [BYTES]
 *                                    create-only put of each comma-separated key (body: BYTES copies of
 *                                    ID, default 1); prints won/lost per key
 *   hold ROOT KEY [MS]               a put that stops while holding the key's lock (prints "locked"),
 *                                    forever or for MS ms (then prints "done" and exits)
 *   idle ROOT N                      N puts of distinct keys at once, then stays alive (prints "idle")
 *   stream ROOT KEY                  a put whose body stalls after 1 MiB (prints "streaming")
 */
import { PreconditionFailedError } from '../../src/errors.ts';
import { FileStore } from '../../src/storage/file.ts';
import { casIncrement, text } from './util.ts';

const [mode, root, ...args] = process.argv.slice(2);
const forever = () => new Promise<never>(() => setInterval(() => undefined, 1 << 30));
const waitUntil = async (at: number) => {
  while (Date.now() < at) await new Promise((r) => setTimeout(r, Math.min(5, at - Date.now())));
};

if (mode === 'cas') {
  const store = await FileStore.open({ root });
  const [key, n, startAt] = args;
  await waitUntil(Number(startAt));
  let conflicts = 0;
  for (let i = 0; i < Number(n); i++) conflicts += await casIncrement(store, key);
  console.log(`done conflicts=${conflicts}`);
} else if (mode === 'create') {
  const store = await FileStore.open({ root });
  const [keys, startAt, id, bytes = '1'] = args;
  const body = text(id.repeat(Number(bytes)));
  await waitUntil(Number(startAt));
  const results = await Promise.all(
    keys.split(',').map((key) =>
      store.put(key, body, { ifNoneMatch: '*' }).then(
        () => `${key}=won`,
        (error) => {
          if (error instanceof PreconditionFailedError) return `${key}=lost`;
          throw error;
        },
      ),
    ),
  );
  console.log(results.join(' '));
} else if (mode === 'hold') {
  const [key, ms] = args;
  const store = await FileStore.open({
    root,
    hooks: {
      locked: async () => {
        console.log('locked');
        if (ms === undefined) await forever();
        await new Promise((r) => setTimeout(r, Number(ms)));
      },
    },
  });
  await store.put(key, text('from the holder'));
  console.log('done');
} else if (mode === 'idle') {
  const store = await FileStore.open({ root });
  await Promise.all(Array.from({ length: Number(args[0]) }, (_, i) => store.put(`idle/${i}`, text(String(i)))));
  console.log('idle');
  await forever();
} else if (mode === 'stream') {
  const store = await FileStore.open({ root });
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (++pulls === 1) controller.enqueue(new Uint8Array(1 << 20).fill(1));
      else {
        console.log('streaming'); // the first MiB was taken by the writer
        await forever();
      }
    },
  });
  await store.put(args[0], body);
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
