/**
 * A second process for the file driver's cross-process tests (spawned by file.test.ts).
 *   cas ROOT KEY N START_AT          N compare-and-swap increments, starting at START_AT (ms epoch)
 *   create ROOT KEYS START_AT ID     create-only put of each comma-separated key; prints won/lost per key
 *   hold ROOT KEY                    a put that stops while holding the key's lock (prints "locked")
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
  const [keys, startAt, id] = args;
  await waitUntil(Number(startAt));
  const results = await Promise.all(
    keys.split(',').map((key) =>
      store.put(key, text(id), { ifNoneMatch: '*' }).then(
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
  const store = await FileStore.open({
    root,
    hooks: {
      locked: async () => {
        console.log('locked');
        await forever();
      },
    },
  });
  await store.put(args[0], text('from the killed writer'));
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
