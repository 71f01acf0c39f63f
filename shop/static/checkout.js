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
