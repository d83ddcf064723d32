// The dashboard's balance adjustments (issue 31): the "Adjust" button of an account's row
// opens the form, "Review" shows what will happen, only "Confirm" posts. Loaded after
// dashboard.js, whose helpers ($, postJson, Unauthorized) it uses. The amount is typed in
// USD and turned into micros as text (never a float); the adjustment id is drawn at review
// time and kept, so a confirm sent twice (a double click, a retry) applies once.
'use strict';

const USD = /^(-?)([0-9]{1,13})(?:\.([0-9]{1,6}))?$/;

/** "-2.5" -> "-2500000": micros as a decimal string, or null when it is no amount of USD. */
function usdToMicros(text) {
  const m = USD.exec(text.trim());
  if (!m) return null;
  const micros = BigInt(`${m[2]}${(m[3] ?? '').padEnd(6, '0')}`);
  return micros === 0n ? null : `${m[1]}${micros}`;
}

function newAdjustmentId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `dash-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

let reviewed = null;

function adjustResult(text, isError = false) {
  $('adjust-result').textContent = text;
  $('adjust-result').classList.toggle('error', isError);
}

function openAdjust(accountId) {
  $('adjust-account').value = accountId;
  $('adjust-form').hidden = false;
  $('adjust-confirm-box').hidden = true;
  reviewed = null;
  adjustResult('');
  $('adjust-amount').focus();
}

function reviewAdjust() {
  const amount = usdToMicros($('adjust-amount').value);
  const reason = $('adjust-reason').value.trim();
  if (amount === null) return adjustResult('The amount is a non-zero number of USD with at most 6 decimals, negative for a debit.', true);
  if (!reason) return adjustResult('Say why: the reason is kept in the ledger and shown to the account.', true);
  reviewed = { account: $('adjust-account').value, body: { adjustment_id: newAdjustmentId(), amount_micros: amount, reason } };
  const verb = amount.startsWith('-') ? 'Debit' : 'Credit';
  $('adjust-preview-text').textContent =
    `${verb} ${$('adjust-amount').value.trim().replace(/^-/, '')} USD ${verb === 'Debit' ? 'from' : 'to'} ${reviewed.account}: "${reason}".`;
  $('adjust-confirm-box').hidden = false;
  $('adjust-confirm').disabled = false;
  $('adjust-confirm').focus();
  adjustResult('');
}

async function confirmAdjust() {
  if (reviewed === null) return;
  $('adjust-confirm').disabled = true;
  adjustResult('Adjusting…');
  try {
    const r = await postJson(`/v1/admin/accounts/${encodeURIComponent(reviewed.account)}/adjustments`, reviewed.body);
    const balance = r.account ? `; balance now ${r.account.balance_micros} micros` : '; the owner has not folded it yet';
    adjustResult(`Adjustment ${r.adjustment_id}${r.duplicate ? ' (already made)' : ''}: ${r.amount_micros} micros to ${r.account_id}${balance}.`);
    $('adjust-form').hidden = true;
    $('adjust-form').reset();
    reviewed = null;
    $('adjust-confirm-box').hidden = true;
  } catch (err) {
    if (err instanceof Unauthorized) return window.location.assign('/login?next=%2F');
    adjustResult(`Adjustment failed: ${err.message}`, true);
    $('adjust-confirm').disabled = false;
  }
}

$('accounts-table').addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-adjust]') : null;
  if (button) openAdjust(button.dataset.adjust);
});
$('adjust-form').addEventListener('submit', (event) => {
  event.preventDefault();
  reviewAdjust();
});
$('adjust-confirm').addEventListener('click', () => void confirmAdjust());
$('adjust-cancel').addEventListener('click', () => {
  $('adjust-confirm-box').hidden = true;
  $('adjust-form').hidden = true;
  reviewed = null;
});
