/** The API key the user gave this tab: kept in sessionStorage (gone with the tab, never written to disk). */
const STORAGE_KEY = 'echopanel.apiKey';

export function apiKey(): string | undefined {
  return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}

/** Headers that carry the key on HTTP requests (browsers cannot set them on a WebSocket: see streamUrl). */
export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/**
 * Asks for the key in the modal `dialog` (its form has an input named "key") and keeps it. `reason` says why
 * (required, or the last one was refused).
 */
export function askForKey(dialog: HTMLDialogElement, reason: string): Promise<string> {
  const form = dialog.querySelector('form')!;
  const input = form.elements.namedItem('key') as HTMLInputElement;
  dialog.querySelector('.reason')!.textContent = reason;
  input.value = '';
  return new Promise((resolve) => {
    const onClose = () => {
      const key = input.value.trim();
      if (!key) return void dialog.showModal();
      dialog.removeEventListener('close', onClose);
      sessionStorage.setItem(STORAGE_KEY, key);
      resolve(key);
    };
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    input.focus();
  });
}
