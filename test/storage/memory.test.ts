import { blobStoreContract } from './contract.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

blobStoreContract('memory', async () => ({ store: new MemoryStore() }), { boundedMemory: false, etagPerWrite: true, largeSize: 16 * 1024 * 1024 });
