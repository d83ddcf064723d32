// `tally up` prints /login#token=…: the fragment never leaves the browser (no server log,
// no Referer), so the link can carry the token. Fill the form, drop the fragment from the
// address bar and history, and sign in.
'use strict';

const match = /^#token=([^&]+)$/.exec(window.location.hash);
if (match) {
  history.replaceState(null, '', window.location.pathname + window.location.search);
  const input = document.getElementById('token');
  input.value = decodeURIComponent(match[1]);
  document.getElementById('login-form').requestSubmit();
}
