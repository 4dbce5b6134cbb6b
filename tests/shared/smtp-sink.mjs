// A real SMTP server on 127.0.0.1:0 for the Node tests: it accepts every mail, keeps it, and
// decodes the text part (quoted-printable or base64) so a test can read the link and code.

import { createServer } from 'node:net';

function decodeBody(body, encoding) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return Buffer.from(
        body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      ).toString('utf8');
    default:
      return body;
  }
}

function header(head, name) {
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/// The decoded part of `data` whose content type starts with `type`.
export function part(data, type) {
  const [head, ...rest] = data.split(/\r?\n\r?\n/);
  const body = rest.join('\r\n\r\n');
  const contentType = header(head, 'content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return contentType.toLowerCase().startsWith(type) ? decodeBody(body, header(head, 'content-transfer-encoding')) : undefined;
  for (const section of body.split(`--${boundary}`).slice(1)) {
    if (section.startsWith('--')) break;
    const trimmed = section.replace(/^\r?\n/, '').replace(/\r?\n$/, '');
    const [partHead, ...partRest] = trimmed.split(/\r?\n\r?\n/);
    if ((header(partHead, 'content-type') ?? '').toLowerCase().startsWith(type)) {
      return decodeBody(partRest.join('\r\n\r\n'), header(partHead, 'content-transfer-encoding'));
    }
  }
  return undefined;
}

export async function startSmtpSink() {
  const mails = [];
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let envelope = { from: '', to: [] };
    let data = '';
    socket.write('220 routekit-node-sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let at;
      while ((at = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, at + 1);
        buffer = buffer.slice(at + 1);
        if (inData) {
          if (line === '.\r\n' || line === '.\n') {
            inData = false;
            const mail = { ...envelope, data };
            mails.push(mail);
            envelope = { from: '', to: [] };
            data = '';
            socket.write('250 queued\r\n');
          } else {
            data += line.startsWith('.') ? line.slice(1) : line;
          }
          continue;
        }
        const command = line.trim();
        const verb = command.split(/\s+/)[0].toUpperCase();
        const address = () => /<([^>]*)>/.exec(command)?.[1] ?? '';
        if (verb === 'EHLO') socket.write('250-routekit-node-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (verb === 'HELO' || verb === 'NOOP' || verb === 'RSET') socket.write('250 OK\r\n');
        else if (verb === 'MAIL') { envelope.from = address(); socket.write('250 OK\r\n'); }
        else if (verb === 'RCPT') { envelope.to.push(address()); socket.write('250 OK\r\n'); }
        else if (verb === 'DATA') { inData = true; socket.write('354 go ahead\r\n'); }
        else if (verb === 'QUIT') { socket.end('221 bye\r\n'); }
        else socket.write('502 not implemented\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const sink = {
    port: server.address().port,
    mails,
    /// How many mails went to `address`.
    count(address) {
      return mails.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())).length;
    },
    /// The latest mail to `address`: the server sends before it answers, so it is here.
    last(address) {
      const mail = mails.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())).at(-1);
      if (!mail) throw new Error(`no mail to ${address}`);
      const text = part(mail.data, 'text/plain') ?? '';
      return {
        ...mail,
        text,
        link: /https?:\/\/\S+/.exec(text)?.[0],
        code: /\b\d{6}\b/.exec(text)?.[0],
      };
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
  return sink;
}
