// The dashboard's notes: create, edit and delete through /api/notes. Every mutation sends the
// page's CSRF token (the <meta name="csrf-token"> routekit puts into the page) as X-CSRF-Token,
// the vanilla twin of @routekit/react's useCsrfToken(). Text is set with textContent, never
// as HTML.
'use strict';

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? '';

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken(), accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (res.status === 204) return null;
  const data = await res.json();
  if (!res.ok) {
    const fields = (data.error?.fields ?? []).map((f) => `${f.path}: ${f.message}`);
    throw new Error(fields.length ? fields.join('; ') : data.error?.message ?? `error ${res.status}`);
  }
  return data;
}

const list = document.getElementById('notes');
const empty = document.getElementById('empty');

function refreshEmpty() {
  empty.hidden = list.children.length > 0;
}

function render(note) {
  const li = document.createElement('li');
  li.dataset.id = note.id;
  const h3 = document.createElement('h3');
  h3.textContent = note.title;
  const p = document.createElement('p');
  p.textContent = note.body;
  const row = document.createElement('div');
  row.className = 'row';
  for (const [action, label, cls] of [['edit', 'Edit', 'secondary'], ['delete', 'Delete', 'danger']]) {
    const button = document.createElement('button');
    button.dataset.action = action;
    button.className = cls;
    button.textContent = label;
    row.append(button);
  }
  li.append(h3, p, row);
  return li;
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

document.getElementById('new-note').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = document.getElementById('new-note-error');
  try {
    const note = await api('POST', '/api/notes', { title: form.title.value, body: form.body.value });
    list.prepend(render(note));
    form.reset();
    showError(error, '');
    refreshEmpty();
  } catch (e) {
    showError(error, e.message);
  }
});

function editor(li) {
  const form = document.createElement('form');
  form.className = 'edit';
  const title = document.createElement('input');
  title.name = 'title';
  title.value = li.querySelector('h3').textContent;
  title.required = true;
  const body = document.createElement('textarea');
  body.name = 'body';
  body.value = li.querySelector('p').textContent;
  const error = document.createElement('p');
  error.className = 'field-error';
  error.hidden = true;
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Save';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => form.closest('li').replaceWith(li));
  form.append(title, body, error, save, cancel);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const note = await api('PATCH', `/api/notes/${encodeURIComponent(li.dataset.id)}`, {
        title: title.value,
        body: body.value,
      });
      form.closest('li').replaceWith(render(note));
    } catch (e) {
      showError(error, e.message);
    }
  });
  return form;
}

list.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const li = button.closest('li');
  if (button.dataset.action === 'delete') {
    try {
      await api('DELETE', `/api/notes/${encodeURIComponent(li.dataset.id)}`);
      li.remove();
      refreshEmpty();
    } catch (e) {
      alert(e.message);
    }
  } else if (button.dataset.action === 'edit') {
    const fresh = document.createElement('li');
    fresh.dataset.id = li.dataset.id;
    const form = editor(li);
    fresh.append(form);
    li.replaceWith(fresh);
    form.querySelector('input').focus();
  }
});
