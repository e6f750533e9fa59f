// The citizens' pages' one script: the SMS code button asks without leaving the page and counts
// down before the next request. Without JavaScript the button submits the form instead.
(function () {
  'use strict';
  var button = document.getElementById('code-button');
  var form = document.getElementById('appeal-form');
  if (!button || !form) { return; }
  var status = document.getElementById('code-status');
  var label = button.textContent;

  function countdown(seconds) {
    button.disabled = true;
    var left = seconds;
    button.textContent = left + ' 秒后重发';
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = label;
      } else {
        button.textContent = left + ' 秒后重发';
      }
    }, 1000);
  }

  button.addEventListener('click', function (event) {
    event.preventDefault();
    var data = new FormData();
    data.append('phone', form.elements.phone.value);
    button.disabled = true;
    fetch('/citizen/appeal/code', { method: 'POST', body: data, headers: { Accept: 'application/json' } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        status.textContent = answer.detail;
        status.className = answer.ok ? 'info' : 'field-error';
        if (answer.ok) { countdown(answer.resend_after || 60); } else if (answer.retry_after) {
          countdown(answer.retry_after);
        } else { button.disabled = false; }
      })
      .catch(function () {
        status.textContent = '网络异常，请稍后再试';
        status.className = 'field-error';
        button.disabled = false;
      });
  });
})();
