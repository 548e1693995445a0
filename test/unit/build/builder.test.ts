// buildImage (src/build/builder.ts) on a store in a temporary folder, with images built FROM
// scratch (no RUN: nothing is launched), read back from the store: the config a Dockerfile
// writes as BuildKit writes it (ENV words expanded against the environment before the line, an
// ENTRYPOINT keeping the CMD its own stage set, the platform's ARGs, a stage named through an
// ARG), the build cache (a LABEL changed above a COPY keeps the COPY cached; a changed file does
// not), an unchanged rebuild keeping the image ID, COPY and ADD heredocs and --link, ADD of a
// URL (a loopback HTTP server), and errors naming the Dockerfile's line.
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

  it('writes the files of COPY and ADD heredocs (expanded unless the delimiter is quoted) and copies with --link', async () => {
    writeFileSync(join(context, 'b.txt'), 'b\n');
    const built = await build([
      'FROM scratch',
      'ARG GREETING=hello',
      'COPY <<EOF /etc/app/app.conf',
      'greeting=$GREETING "quoted"',
      'EOF',
      "COPY --chmod=0755 --chown=7:8 <<'EOF' /usr/local/bin/run.sh",
      '#!/bin/sh',
      'echo "$GREETING"',
      'EOF',
      'ADD <<one <<two b.txt /etc/conf.d/',
      'first',
      'one',
      'second',
      'two',
      'COPY --link b.txt /linked/',
      '',
    ].join('\n'));
    const diffIds = (await configOf(built)).rootfs.diff_ids;
    expect(diffIds).toHaveLength(4);
    const layer = (i: number) => store.layerDir(built.layers[i]!);
    const { readFileSync, statSync } = await import('node:fs');
    expect(readFileSync(join(layer(0), 'etc/app/app.conf'), 'utf8')).toBe('greeting=hello "quoted"\n');
    expect(statSync(join(layer(0), 'etc/app/app.conf')).mode & 0o7777).toBe(0o644);
    expect(statSync(join(layer(0), 'etc/app')).mode & 0o7777).toBe(0o755);
    const script = statSync(join(layer(1), 'usr/local/bin/run.sh'));
    expect(readFileSync(join(layer(1), 'usr/local/bin/run.sh'), 'utf8')).toBe('#!/bin/sh\necho "$GREETING"\n');
    expect([script.mode & 0o7777, script.uid, script.gid]).toEqual([0o755, 7, 8]);
    expect(['one', 'two', 'b.txt'].map((f) => readFileSync(join(layer(2), 'etc/conf.d', f), 'utf8'))).toEqual(['first\n', 'second\n', 'b\n']);
    expect(readFileSync(join(layer(3), 'linked/b.txt'), 'utf8')).toBe('b\n');
    // The heredoc's text is in the cache key: the same text is cached, another is not.
    expect(await build(['FROM scratch', 'COPY <<EOF /x', 'one', 'EOF', ''].join('\n'))).toMatchObject({ ran: 1 });
    expect(await build(['FROM scratch', 'COPY <<EOF /x', 'one', 'EOF', ''].join('\n'))).toMatchObject({ ran: 0, cached: 1 });
    expect(await build(['FROM scratch', 'COPY <<EOF /x', 'two', 'EOF', ''].join('\n'))).toMatchObject({ ran: 1 });
    await expect(build(['FROM scratch', 'COPY <<one <<two /etc/both', 'a', 'one', 'b', 'two', ''].join('\n'))).rejects.toThrow(/Dockerfile:2: .*more than one source needs a destination folder ending with \//);
    await expect(build(['FROM scratch', 'COPY <<".." /etc/', 'x', '..', ''].join('\n'))).rejects.toThrow(/Dockerfile:2: .*a heredoc named "\.\." cannot be a file name/);
  });

  it('never writes a heredoc through a symlink the same step copied, and --link makes the folders on its way its own', async () => {
    const outside = join(dir, 'outside-target');
    mkdirSync(join(context, 'conf'), { recursive: true });
    const { symlinkSync, existsSync, lstatSync } = await import('node:fs');
    symlinkSync(outside, join(context, 'conf', 'evil'));
    await expect(build(['FROM scratch', 'COPY conf/ <<evil /opt/', 'owned', 'evil', ''].join('\n'))).rejects.toThrow(/Dockerfile:2: .*\/opt\/evil is written twice by this step/);
    expect(existsSync(outside)).toBe(false);
    rmSync(join(context, 'conf'), { recursive: true });
    // /srv made by WORKDIR for USER 7:8; a plain COPY's layer keeps that owner on its way, a --link one does not.
    const built = await build(['FROM scratch', 'USER 7:8', 'WORKDIR /srv', 'COPY b.txt /srv/plain/', 'COPY --link b.txt /srv/linked/', ''].join('\n'));
    const owners = (i: number) => {
      const st = lstatSync(join(store.layerDir(built.layers[i]!), 'srv'));
      return [st.uid, st.gid, st.mode & 0o7777];
    };
    expect(owners(0)).toEqual([7, 8, 0o755]); // WORKDIR's
    expect(owners(1)).toEqual([7, 8, 0o755]);
    expect(owners(2)).toEqual([0, 0, 0o755]);
  });

  it('downloads ADD\'s http URLs (never unpacked, 0600, dated by Last-Modified), checks --checksum, and says a failed download at its line', async () => {
    const { createServer } = await import('node:http');
    const { gzipSync } = await import('node:zlib');
    const { createHash } = await import('node:crypto');
    const archive = gzipSync(Buffer.from('not unpacked'));
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/files/') return void res.writeHead(200).end('listing');
      if (req.url === '/files/tool.sh') return void res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end('#!/bin/sh\necho tool\n');
      if (req.url === '/files/data.tar.gz') return void res.writeHead(200).end(archive);
      if (req.url === '/moved') return void res.writeHead(302, { Location: '/files/tool.sh' }).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const sum = `sha256:${createHash('sha256').update(archive).digest('hex')}`;
      const built = await build(['FROM scratch', `ADD ${base}/files/tool.sh /usr/local/bin/`, `ADD --checksum=${sum} ${base}/files/data.tar.gz /data/`, `ADD --chmod=0755 ${base}/moved /bin/tool`, ''].join('\n'));
      const { readFileSync, statSync } = await import('node:fs');
      const tool = statSync(join(store.layerDir(built.layers[0]!), 'usr/local/bin/tool.sh'));
      expect(readFileSync(join(store.layerDir(built.layers[0]!), 'usr/local/bin/tool.sh'), 'utf8')).toBe('#!/bin/sh\necho tool\n');
      expect([tool.mode & 0o7777, tool.mtime.toISOString()]).toEqual([0o600, '2015-10-21T07:28:00.000Z']);
      expect(readFileSync(join(store.layerDir(built.layers[1]!), 'data/data.tar.gz'))).toEqual(archive); // a URL's archive stays a file
      expect(statSync(join(store.layerDir(built.layers[2]!), 'bin/tool')).mode & 0o7777).toBe(0o755); // the redirect followed
      // The same content again: cached.
      expect(await build(['FROM scratch', `ADD ${base}/files/tool.sh /usr/local/bin/`, ''].join('\n'))).toMatchObject({ ran: 0, cached: 1 });
      // With --checksum a cached step fetches nothing.
      const pinned = ['FROM scratch', `ADD --checksum=${sum} ${base}/files/data.tar.gz /data/`, ''].join('\n');
      expect(await build(pinned)).toMatchObject({ ran: 1 });
      const before = requests.length;
      expect(await build(pinned)).toMatchObject({ ran: 0, cached: 1 });
      expect(requests.length).toBe(before);
      // Into a folder that is there, named as its URL's path ends; a path with no name is __unnamed__.
      const into = await build(['FROM scratch', 'COPY b.txt /opt/bin/', `ADD ${base}/files/tool.sh /opt/bin`, `ADD ${base}/files/ /opt/bin/`, ''].join('\n'));
      expect(readFileSync(join(store.layerDir(into.layers[1]!), 'opt/bin/tool.sh'), 'utf8')).toBe('#!/bin/sh\necho tool\n');
      expect(readFileSync(join(store.layerDir(into.layers[2]!), 'opt/bin/files'), 'utf8')).toBe('listing');
      await expect(build(['FROM scratch', `ADD --checksum=sha256:${'0'.repeat(64)} ${base}/files/data.tar.gz /data/`, ''].join('\n'))).rejects.toThrow(/Dockerfile:2: ADD .*the download has digest sha256:[0-9a-f]{64}, --checksum says sha256:0{64}/);
      await expect(build(['FROM scratch', `ADD ${base}/missing /x`, ''].join('\n'))).rejects.toThrow(/Dockerfile:2: ADD .*the server answered HTTP 404/);
      await expect(build(['FROM scratch', 'ADD git@github.com:o/r.git /src', ''].join('\n'))).rejects.toThrow(/Dockerfile:2: ADD .*http and https URLs only/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('names the Dockerfile line of a failing instruction', async () => {
    const failing = build('FROM scratch\nLABEL a=b\nCOPY missing.txt /x\n');
    await expect(failing).rejects.toBeInstanceOf(UserError);
    await expect(failing).rejects.toThrow(new RegExp(`^${join(context, 'Dockerfile')}:3: COPY missing.txt /x: `));
    await expect(build('FROM scratch\nCOPY --chown=nobody a.txt /x\n')).rejects.toThrow(/Dockerfile:2: COPY --chown=nobody a\.txt \/x: --chown=nobody: user "nobody" is not in the \/etc\/passwd of/);
    await expect(build('FROM scratch\nRUN --mount=type=ssh true\n')).rejects.toThrow(/Dockerfile:2: .*--mount=type=ssh is not supported by stack/);
  });
});
