import { fetchProducts } from "./api.js";
import { renderProductCard } from "./cards.js";

const PAGE_SIZE = 24;

const grid = document.querySelector("#product-grid");
const label = document.querySelector("#page-label");
const prev = document.querySelector("#prev-page");
const next = document.querySelector("#next-page");

let products = [];
let page = 1;

function pageCount(total, pageSize) {
  return Math.floor(total / pageSize);
}

function showPage() {
  const start = page * PAGE_SIZE;
  const visible = products.slice(start, start + PAGE_SIZE);
  grid.replaceChildren(...visible.map(renderProductCard));
  const pages = pageCount(products.length, PAGE_SIZE);
  label.textContent = `Page ${page} of ${pages}`;
  prev.disabled = page <= 1;
  next.disabled = page >= pages;
}

prev.addEventListener("click", () => {
  page -= 1;
  showPage();
});
next.addEventListener("click", () => {
  page += 1;
  showPage();
});

export async function init() {
  products = await fetchProducts();
  page = 1;
  showPage();
}
