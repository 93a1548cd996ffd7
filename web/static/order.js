// The order page: a live total, and a way back to the chat. Our own file, no CDN.
(function () {
  "use strict";
  function yuan(fen) {
    return "¥" + Math.floor(fen / 100) + "." + String(fen % 100).padStart(2, "0");
  }

  const form = document.querySelector("form.order-form");
  if (form) {
    const price = Number(form.dataset.priceFen);
    const quantity = form.querySelector("#quantity");
    const total = form.querySelector("#total");
    const update = () => {
      const n = Number(quantity.value);
      total.textContent = Number.isInteger(n) && n > 0 ? yuan(price * n) : "—";
    };
    quantity.addEventListener("input", update);
    update();
    // One tap, one order: the server would also show the same order for a second submit.
    form.addEventListener("submit", () => {
      form.querySelector("button[type=submit]").disabled = true;
    });
  }

  // Inside WeChat the page closes back into the chat; elsewhere go back.
  document.querySelectorAll("[data-close-page]").forEach((button) =>
    button.addEventListener("click", () => {
      if (window.WeixinJSBridge) window.WeixinJSBridge.call("closeWindow");
      else history.back();
    }));
})();
