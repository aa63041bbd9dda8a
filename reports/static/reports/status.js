// /lapor/{id}/: the reporter reopens a report closed within 7 days.
const form = document.getElementById("reopen");
if (form) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch(form.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" }, body: "{}",
    });
    if (r.ok) location.reload();
    else form.insertAdjacentHTML("beforeend", `<p class="error">${(await r.json()).detail}</p>`);
  });
}
