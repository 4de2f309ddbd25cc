const https = require("https");

const API_KEY = "AKIAABCDEFGHIJKLMNOP";

function fetchUser(id) {
  // TODO: cache responses
  return https.get(`https://api.example.com/users/${id}?key=${API_KEY}`, (res) => res.pipe(process.stdout));
}

module.exports = { fetchUser };
