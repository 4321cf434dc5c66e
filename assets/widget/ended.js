// "This chat has ended": a button for a new chat and, after a chat that really took place, a
// rating form (1–5 and an optional comment).
import { describedBy } from '/common/composer.js';

/** Wires #ended. onNewChat(); onRate(rating, comment) returns '' or an error to show. */
export function endedView(t, { onNewChat, onRate }) {
  const section = document.getElementById('ended');
  const title = document.getElementById('ended-title');
  const form = document.getElementById('rating-form');
  const group = document.getElementById('rating-group');
  const error = document.getElementById('rating-error');
  const thanks = document.getElementById('rating-thanks');

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
    describedBy(group, error.id, Boolean(message));
  }

  document.getElementById('new-chat').addEventListener('click', onNewChat);
  form.addEventListener('change', () => showError(''));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = form.querySelector('input[name="rating"]:checked');
    if (!chosen) {
      showError(t.rateMissing);
      form.querySelector('input[name="rating"]').focus();
      return;
    }
    const problem = onRate(Number(chosen.value), document.getElementById('rating-comment').value.trim());
    if (problem) {
      showError(problem);
      return;
    }
    form.hidden = true;
    thanks.hidden = false;
    thanks.focus();
  });

  return {
    show(withRating) {
      section.hidden = false;
      form.reset();
      showError('');
      form.hidden = !withRating;
      thanks.hidden = true;
      title.focus();
    },
    hide() {
      section.hidden = true;
    },
  };
}
