/* The language switch submits on change (the button stays for keyboards and no-JS). */
for (const select of document.querySelectorAll("form.lang select")) {
  select.addEventListener("change", () => select.form.submit());
}
