(function () {
  'use strict';
  var boxes = document.querySelectorAll('#filters input');
  var checks = document.querySelectorAll('details.check');
  function applyFilters() {
    var shown = {};
    boxes.forEach(function (b) { shown[b.value] = b.checked; });
    checks.forEach(function (d) {
      d.classList.toggle('hidden', !shown[d.getAttribute('data-status')]);
    });
    document.querySelectorAll('section.area').forEach(function (s) {
      s.classList.toggle('hidden', !s.querySelector('details.check:not(.hidden)'));
    });
  }
  boxes.forEach(function (b) { b.addEventListener('change', applyFilters); });
  function setAll(open) {
    checks.forEach(function (d) { if (!d.classList.contains('hidden')) { d.open = open; } });
  }
  document.getElementById('expand-all').addEventListener('click', function () { setAll(true); });
  document.getElementById('collapse-all').addEventListener('click', function () { setAll(false); });
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.classList.contains('check')) {
      target.classList.remove('hidden');
      target.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  function copied(button, ok) {
    button.textContent = ok ? 'Copied' : 'Select and copy';
    window.setTimeout(function () { button.textContent = 'Copy'; }, 2000);
  }
  document.querySelectorAll('button.copy').forEach(function (button) {
    button.addEventListener('click', function () {
      var text = button.parentNode.querySelector('pre').textContent;
      function fallback() {
        var area = document.createElement('textarea');
        area.value = text;
        area.setAttribute('readonly', '');
        area.className = 'offscreen';
        document.body.appendChild(area);
        area.select();
        var ok = false;
        try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
        document.body.removeChild(area);
        copied(button, ok);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button, true); }, fallback);
      } else {
        fallback();
      }
    });
  });
})();
