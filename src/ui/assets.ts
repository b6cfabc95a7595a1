/**
 * The UI's only static files, kept as strings so the same app serves them on Node and Workers
 * with no build step and no CDN. Pages work without the script: it adds copy buttons, keeps
 * the compare form to two choices, and gives the upload form drag and drop with per-file progress.
 */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --accent: #0a58ca; --bad: #b42318; --good: #1a7f37; --panel: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d; --accent: #6cb6ff; --bad: #ff7b72; --good: #3fb950; --panel: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.site { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--panel); flex-wrap: wrap; }
header.site .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header.site nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.site .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; }
main { padding: 1rem 1.5rem 3rem; max-width: 78rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .75rem; overflow: auto; white-space: pre; }
.muted { color: var(--muted); }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--accent); padding: .5rem .75rem; background: var(--panel); margin: 1rem 0; }
.notice.error { border-left-color: var(--bad); }
.notice.ok { border-left-color: var(--good); }
.good { color: var(--good); } .bad { color: var(--bad); }
form.inline { display: inline; }
.row { display: flex; gap: .75rem; align-items: end; flex-wrap: wrap; margin: .5rem 0; }
label { display: block; font-weight: 600; margin-bottom: .15rem; }
input[type=text], input[type=password], input[type=search], select { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); min-width: 14rem; }
button, .button { font: inherit; padding: .35rem .9rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
.pager { display: flex; gap: 1rem; margin: .5rem 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 0 2rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
details > summary { cursor: pointer; }
.drop { border: 2px dashed var(--line); padding: 1.5rem; text-align: center; margin: .5rem 0; }
.drop.over { border-color: var(--accent); }
progress { width: 12rem; }
`;

export const SCRIPT = `
(() => {
  // Copy buttons beside every block marked data-copy.
  for (const pre of document.querySelectorAll('pre[data-copy]')) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + (pre.dataset.copy || 'the text'));
    button.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(pre.textContent); button.textContent = 'Copied'; }
      catch { button.textContent = 'Select and copy by hand'; }
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    });
    pre.before(button);
  }
  // Upload: drop files on the area, and send each file on its own with its progress.
  const form = document.querySelector('form[data-upload]');
  if (form && window.FormData && window.XMLHttpRequest) {
    const input = form.querySelector('input[type=file]');
    const drop = form.querySelector('.drop');
    const list = document.getElementById('upload-progress');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); input.files = e.dataTransfer.files; });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      list.replaceChildren();
      for (const file of input.files) {
        const item = document.createElement('li');
        const bar = document.createElement('progress');
        bar.max = 1; bar.value = 0;
        bar.setAttribute('aria-label', 'Upload of ' + file.name);
        const status = document.createElement('span');
        status.setAttribute('role', 'status');
        item.append(file.name + ' ', bar, ' ', status);
        list.append(item);
        const data = new FormData();
        data.append('csrf', form.elements.csrf.value);
        data.append('distribution', form.elements.distribution.value);
        data.append('file', file);
        const xhr = new XMLHttpRequest();
        xhr.open('POST', form.action);
        xhr.setRequestHeader('accept', 'application/json');
        xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = p.loaded / p.total; };
        xhr.onload = () => {
          bar.value = 1;
          let answer = {};
          try { answer = JSON.parse(xhr.responseText); } catch {}
          status.textContent = xhr.status < 300
            ? (answer.status || 'done') + (answer.revision ? ' - revision ' + answer.revision.number : '')
            : 'refused: ' + (answer.message || xhr.status);
          status.className = xhr.status < 300 ? 'good' : 'bad';
        };
        xhr.onerror = () => { status.textContent = 'failed'; status.className = 'bad'; };
        xhr.send(data);
      }
    });
  }
})();
`;
