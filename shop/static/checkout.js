// Mounts Stripe's Payment Element on the payment page and confirms the payment. The order itself is already
// placed; whether it is paid is decided by the server when Stripe's webhook arrives, never by this script.
(function () {
  "use strict";
  var root = document.getElementById("paiement");
  if (!root) {
    return;
  }
  var message = document.getElementById("paiement-message");
  var button = document.getElementById("paiement-bouton");
  function show(text) {
    message.textContent = text;
    message.hidden = false;
  }
  if (typeof Stripe === "undefined") {
    show("Le module de paiement n'a pas pu être chargé. Vérifiez votre connexion puis rechargez la page.");
    return;
  }
  var stripe = Stripe(root.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: root.dataset.clientSecret, locale: "fr" });
  elements.create("payment").mount("#payment-element");
  button.disabled = false;
  root.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    var returnUrl = new URL(root.dataset.returnPath, window.location.origin).toString();
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: returnUrl } })
      .then(function (result) {
        if (result.error) {
          show(result.error.message || "Le paiement a échoué.");
          button.disabled = false;
        }
      });
  });
})();

// Keeps the checkout summary equal to what will be charged: each change of delivery method, address or
// country asks the server for the new quote and shows it, with the total sent back with the order. Without
// JavaScript the "update" button does the same through the server; if this fails, the server notices the stale
// total and asks the customer to confirm the right one.
(function () {
  "use strict";
  var form = document.querySelector("form.checkout");
  if (!form || !window.fetch) {
    return;
  }
  function chosen(name) {
    return form.querySelector("input[name=" + name + "]:checked");
  }
  function country() {
    var address = chosen("address_id");
    if (address && address.value !== "new" && address.dataset.country) {
      return address.dataset.country;
    }
    var field = form.querySelector("[name=country]");
    return field ? field.value : "FR";
  }
  function show(id, text) {
    var element = document.getElementById(id);
    if (element) {
      element.textContent = text;
    }
  }
  function refresh() {
    var method = chosen("shipping_method");
    var url = "/api/v1/checkout/quote?shipping_method=" +
      encodeURIComponent(method ? method.value : "standard") + "&country=" + encodeURIComponent(country());
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(function (body) {
        var quote = body.data;
        show("recap-sous-total", quote.display.subtotal);
        show("recap-mode", quote.display.shipping_method);
        show("recap-livraison", quote.display.shipping);
        show("recap-total", quote.display.total);
        show("recap-taux", quote.display.vat_rate);
        show("recap-tva", quote.display.vat);
        document.getElementById("total-affiche").value = String(quote.total_cents);
      })
      .catch(function () {
        // The summary stays as it was; the server checks the total before placing the order.
      });
  }
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "shipping_method" || name === "address_id" || name === "country") {
      refresh();
    }
  });
  var update = document.getElementById("recalculer");
  if (update) {
    update.hidden = true;
  }
})();
