// zod as this program uses it: every schema parses one document per process (a spec, a
// manifest, a seccomp profile), so zod's JIT, which compiles a fast path for each object schema
// with `new Function` on its first parse, costs more than it saves. Without it the first
// validation of a fresh spec took 9-11 ms instead of 18-25 (6 alternating runs of a one-service
// spec). Every module takes zod from here, so the setting is made before any parse.
import { z } from 'zod';

z.config({ jitless: true });

export { z };
