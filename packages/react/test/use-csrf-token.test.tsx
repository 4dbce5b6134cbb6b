import { act, renderHook } from '@testing-library/react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { readCsrfToken, useCsrfToken } from '../src/index';

function setMeta(content: string): HTMLMetaElement {
  const meta = document.createElement('meta');
  meta.name = 'csrf-token';
  meta.content = content;
  document.head.append(meta);
  return meta;
}

afterEach(() => {
  document.head.innerHTML = '';
  document.body.innerHTML = '';
});

describe('readCsrfToken', () => {
  it('is empty without a meta tag', () => {
    expect(readCsrfToken()).toBe('');
  });

  it('reads the meta tag', () => {
    setMeta('abc');
    expect(readCsrfToken()).toBe('abc');
  });

  it('ignores other meta tags', () => {
    const other = document.createElement('meta');
    other.name = 'viewport';
    other.content = 'width=device-width';
    document.head.append(other);
    expect(readCsrfToken()).toBe('');
  });
});

describe('useCsrfToken', () => {
  it('returns the meta tag token', () => {
    setMeta('token-1');
    const { result } = renderHook(() => useCsrfToken());
    expect(result.current).toBe('token-1');
  });

  it('follows a replaced token', async () => {
    const meta = setMeta('token-1');
    const { result } = renderHook(() => useCsrfToken());
    await act(async () => {
      meta.content = 'token-2';
    });
    expect(result.current).toBe('token-2');
    await act(async () => {
      meta.remove();
    });
    expect(result.current).toBe('');
  });

  function Field() {
    return <input name="csrf_token" value={useCsrfToken()} readOnly />;
  }

  it('renders the empty string on the server', () => {
    setMeta('browser-only');
    const html = renderToString(<Field />);
    expect(html).toContain('value=""');
    expect(html).not.toContain('browser-only');
  });

  it('hydrates without a mismatch and then shows the token', async () => {
    setMeta('token-3');
    const container = document.createElement('div');
    container.innerHTML = renderToString(<Field />);
    document.body.append(container);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    await act(async () => {
      hydrateRoot(container, <Field />);
    });
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
    expect(container.querySelector('input')?.value).toBe('token-3');
  });
});
