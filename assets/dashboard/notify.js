// Attention for staff: "(n) " before the page title while something is unread, and a short beep
// made with the Web Audio API (no sound files). Browsers allow sound only after the person has
// used the page, so the audio is unlocked on the first key press or click.

const BEEP_GAP_MS = 1500;

export function notifier() {
  const title = document.title;
  let audio = null;
  let lastBeep = 0;

  function unlock() {
    try {
      audio = audio || new AudioContext();
      if (audio.state === 'suspended') audio.resume().catch(() => {});
    } catch {
      audio = null;
    }
  }
  if (navigator.userActivation?.hasBeenActive) unlock(); // e.g. the sign-in click
  document.addEventListener('pointerdown', unlock, { once: true });
  document.addEventListener('keydown', unlock, { once: true });

  return {
    /** Shows `count` unread things in the title (none when 0). */
    count(count) {
      document.title = count > 0 ? `(${count}) ${title}` : title;
    },
    beep() {
      const now = performance.now();
      if (!audio || audio.state !== 'running' || now - lastBeep < BEEP_GAP_MS) return;
      lastBeep = now;
      const start = audio.currentTime;
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = 'sine';
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(start);
      tone.stop(start + 0.3);
    },
  };
}
