/**
 * The UI's only static files, kept as strings so the same app serves them on Node and Workers
 * with no build step and no CDN. Pages work without the script: it adds copy buttons, keeps
 * the compare form to two choices, gives the upload form drag and drop with per-file progress and
 * each file's validation steps, and follows a running import sync live.
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
.severity-critical, .severity-high { color: #a11; font-weight: 600; }
.severity-medium { color: #8a5300; }
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
ul.steps { margin: .25rem 0 .5rem; padding-left: 1.25rem; font-size: .9em; }
textarea { font: inherit; width: 100%; max-width: 48rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
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
  // Upload: drop several files on the area, then each file goes on its own request with its
  // progress; its answer lists the validation steps the server ran, shown as it arrives.
  const form = document.querySelector('form[data-upload]');
  if (form && window.FormData && window.XMLHttpRequest) {
    const input = form.querySelector('input[type=file]');
    const drop = form.querySelector('.drop');
    const list = document.getElementById('upload-progress');
    const result = document.getElementById('upload-result');
    const chosen = document.getElementById('upload-chosen');
    const showChosen = () => { if (chosen) chosen.textContent = input.files.length ? input.files.length + ' chosen: ' + [...input.files].map((f) => f.name).join(', ') : ''; };
    input.addEventListener('change', showChosen);
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); input.files = e.dataTransfer.files; showChosen(); });
    const stepsOf = (answer) => {
      const validation = answer.validation || (answer.packages && answer.packages[0] && answer.packages[0].validation);
      return validation && Array.isArray(validation.steps) ? validation.steps : [];
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!input.files.length) { input.focus(); return; }
      list.replaceChildren();
      if (result) result.replaceChildren();
      const dist = form.elements.distribution.value;
      let pending = input.files.length;
      let newest = null;
      for (const file of input.files) {
        const item = document.createElement('li');
        const name = document.createElement('strong');
        name.textContent = file.name;
        const bar = document.createElement('progress');
        bar.max = 1; bar.value = 0;
        bar.setAttribute('aria-label', 'Upload of ' + file.name);
        const status = document.createElement('span');
        status.setAttribute('role', 'status');
        status.textContent = 'sending';
        const steps = document.createElement('ul');
        steps.className = 'steps';
        steps.setAttribute('aria-label', 'Checks of ' + file.name);
        item.append(name, ' ', bar, ' ', status, steps);
        list.append(item);
        const data = new FormData();
        data.append('csrf', form.elements.csrf.value);
        data.append('distribution', dist);
        data.append('file', file);
        const xhr = new XMLHttpRequest();
        xhr.open('POST', form.action);
        xhr.setRequestHeader('accept', 'application/json');
        xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = p.loaded / p.total; };
        xhr.upload.onload = () => { bar.value = 1; status.textContent = 'checking'; };
        const finish = () => {
          pending--;
          if (pending === 0 && result) {
            const link = document.createElement('a');
            link.href = '/ui/distributions/' + encodeURIComponent(dist) + '#revisions';
            link.textContent = newest ? 'Revision ' + newest + ' of ' + dist : 'The revisions of ' + dist;
            result.append(newest ? 'Done. New revision: ' : 'Done. ', link);
          }
        };
        xhr.onload = () => {
          bar.value = 1;
          let answer = {};
          try { answer = JSON.parse(xhr.responseText); } catch {}
          for (const step of stepsOf(answer)) {
            const li = document.createElement('li');
            li.className = step.passed ? 'good' : 'bad';
            li.textContent = step.name + ': ' + (step.passed ? 'passed' : 'failed') + (step.message ? ' - ' + step.message : '');
            steps.append(li);
          }
          if (answer.revision && (!newest || answer.revision.number > newest)) newest = answer.revision.number;
          status.textContent = xhr.status < 300
            ? (answer.status || 'done') + (answer.revision ? ' - revision ' + answer.revision.number : '')
            : 'refused: ' + (answer.message || xhr.status);
          status.className = xhr.status < 300 ? 'good' : 'bad';
          finish();
        };
        xhr.onerror = () => { status.textContent = 'failed: the connection broke'; status.className = 'bad'; finish(); };
        xhr.send(data);
      }
    });
  }
  // A running sync: follow its events live; the page without the script shows them on reload.
  const job = document.querySelector('[data-job-events]');
  const jobStatus = document.getElementById('job-status');
  if (job && jobStatus && window.EventSource && jobStatus.textContent.trim() === 'running') {
    const count = document.getElementById('job-count');
    const events = document.getElementById('job-events');
    const bar = document.getElementById('job-bar');
    const source = new EventSource(job.dataset.jobEvents);
    source.onmessage = (m) => {
      let e = {};
      try { e = JSON.parse(m.data); } catch { return; }
      count.textContent = String(e.count);
      const li = document.createElement('li');
      li.textContent = e.status + ': ' + e.count + ' ' + (e.message || '');
      events.append(li);
    };
    source.addEventListener('end', (m) => {
      source.close();
      let e = {};
      try { e = JSON.parse(m.data); } catch {}
      jobStatus.textContent = e.status || 'ended';
      jobStatus.className = e.status === 'done' ? 'good' : 'bad';
      if (typeof e.count === 'number') count.textContent = String(e.count);
      bar.max = 1; bar.value = 1;
      // What only a running sync offers (cancel, reload) goes with it.
      for (const el of document.querySelectorAll('[data-job-running]')) el.remove();
    });
  }
})();
`;
