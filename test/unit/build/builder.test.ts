// buildImage (src/build/builder.ts) on a store in a temporary folder, with images built FROM
// scratch (no RUN: nothing is launched), read back from the store: the config a Dockerfile
// writes as BuildKit writes it (ENV words expanded against the environment before the line, an
// ENTRYPOINT keeping the CMD its own stage set, the platform's ARGs, a stage named through an
// ARG), the build cache (a LABEL changed above a COPY keeps the COPY cached; a changed file does
// not), an unchanged rebuild keeping the image ID, and errors naming the Dockerfile's line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImage, type BuildOptions, type BuiltImage } from '../../../src/build/builder.js';
import { ImageStore } from '../../../src/image/store.js';
import { hostPlatform } from '../../../src/image/platform.js';
import { UserError } from '../../../src/errors.js';
import { describeRoot } from '../../harness/require.js';

describeRoot('buildImage', () => {
  let dir: string;
  let store: ImageStore;
  let context: string;
  const steps: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stack-builder-'));
    store = new ImageStore(join(dir, 'store'));
    context = join(dir, 'ctx');
    mkdirSync(context);
    writeFileSync(join(context, 'a.txt'), 'a\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const build = (text: string, extra: Partial<BuildOptions> = {}): Promise<BuiltImage> => {
    steps.length = 0;
    return buildImage({
      store,
      project: 'p',
      service: 'web',
      context,
      dockerfile: { path: join(context, 'Dockerfile'), text },
      args: {},
      labels: {},
      names: ['docker.io/library/p-web:latest'],
      noCache: false,
      pull: false,
      network: 'none',
      baseImage: () => Promise.reject(new Error('no base image in these tests')),
      onStep: (s) => steps.push(`${s.cached ? 'CACHED ' : ''}${s.text}`),
      onLine: () => undefined,
      ...extra,
    });
  };
  const configOf = async (built: BuiltImage) => JSON.parse((await store.readBlob(built.configDigest))!.toString()) as { config: Record<string, unknown>; rootfs: { diff_ids: string[] }; history: { created_by: string; empty_layer?: boolean }[] };

  it('writes the config as BuildKit does', async () => {
    const built = await build([
      'FROM scratch',
      'ENV A=1',
      'ENV A=2 B=$A',
      'ARG TARGETARCH',
      'ENV ARCH=$TARGETARCH',
      'CMD ["serve"]',
      'ENTRYPOINT ["/app"]',
      'EXPOSE 80 53/udp',
      'LABEL org.example="x y"',
      'WORKDIR /srv/app',
      'USER 1000',
      '',
    ].join('\n'));
    const c = (await configOf(built)).config;
    // B was expanded against the A from before the line (1), not the A the same line sets.
    expect(c.Env).toEqual(['A=2', 'B=1', `ARCH=${hostPlatform().architecture}`]);
    expect(c.Entrypoint).toEqual(['/app']);
    expect(c.Cmd).toEqual(['serve']); // set in this stage: the ENTRYPOINT after it keeps it
    expect(c.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(c.Labels).toEqual({ 'org.example': 'x y' });
    expect(c.WorkingDir).toBe('/srv/app');
    expect(c.User).toBe('1000');
    expect(steps).toEqual(['FROM scratch', 'ENV A=1', 'ENV A=2 B=$A', 'ARG TARGETARCH', 'ENV ARCH=$TARGETARCH', 'CMD ["serve"]', 'ENTRYPOINT ["/app"]', 'EXPOSE 80 53/udp', 'LABEL org.example="x y"', 'WORKDIR /srv/app', 'USER 1000']);
  });

  it('caches a COPY across a changed LABEL above it, not across a changed file; an unchanged rebuild keeps the image ID', async () => {
    const text = (label: string) => `FROM scratch\nLABEL v=${label}\nCOPY a.txt /a.txt\n`;
    const first = await build(text('1'));
    expect(first).toMatchObject({ ran: 1, cached: 0 });
    const again = await build(text('1'));
    expect(again).toMatchObject({ ran: 0, cached: 1 });
    expect(again.configDigest).toBe(first.configDigest);
    const relabelled = await build(text('2'));
    expect(relabelled).toMatchObject({ ran: 0, cached: 1 });
    expect(relabelled.configDigest).not.toBe(first.configDigest);
    writeFileSync(join(context, 'a.txt'), 'changed\n');
    const changed = await build(text('2'));
    expect(changed).toMatchObject({ ran: 1, cached: 0 });
    expect((await configOf(changed)).rootfs.diff_ids).toHaveLength(1);
    expect((await configOf(changed)).rootfs.diff_ids).not.toEqual((await configOf(first)).rootfs.diff_ids);
  });

  it('builds the stage an ARG names, and only the stages the target needs', async () => {
    const built = await build(['ARG FLAVOUR=two', 'FROM scratch AS one', 'LABEL stage=one', 'FROM scratch AS two', 'LABEL stage=two', 'FROM ${FLAVOUR}', 'LABEL last=yes', ''].join('\n'));
    expect((await configOf(built)).config.Labels).toEqual({ stage: 'two', last: 'yes' });
    expect(steps).not.toContain('LABEL stage=one');
    const target = await build(['FROM scratch AS one', 'LABEL stage=one', 'FROM scratch AS two', 'LABEL stage=two', ''].join('\n'), { target: 'one' });
    expect((await configOf(target)).config.Labels).toEqual({ stage: 'one' });
    expect(steps).toEqual(['FROM scratch AS one', 'LABEL stage=one']);
  });

  it('names the Dockerfile line of a failing instruction', async () => {
    const failing = build('FROM scratch\nLABEL a=b\nCOPY missing.txt /x\n');
    await expect(failing).rejects.toBeInstanceOf(UserError);
    await expect(failing).rejects.toThrow(new RegExp(`^${join(context, 'Dockerfile')}:3: COPY missing.txt /x: `));
    await expect(build('FROM scratch\nCOPY --chown=nobody a.txt /x\n')).rejects.toThrow(/Dockerfile:2: COPY --chown=nobody a\.txt \/x: --chown=nobody: user "nobody" is not in the \/etc\/passwd of/);
    await expect(build('FROM scratch\nRUN --mount=type=ssh true\n')).rejects.toThrow(/Dockerfile:2: .*--mount=type=ssh is not supported by stack/);
  });
});
