package com.acme.fx;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.springframework.stereotype.Service;

@Service
public class CurrencyConverter {
    private static final Duration TTL = Duration.ofMinutes(10);

    private final RatesClient rates;
    private final Map<String, CachedRate> cache = new HashMap<>();

    public CurrencyConverter(RatesClient rates) {
        this.rates = rates;
    }

    public BigDecimal convert(BigDecimal amount, String from, String to) {
        if (from.equals(to)) {
            return amount;
        }
        String key = from + "/" + to;
        CachedRate cached = cache.get(key);
        if (cached == null || cached.fetchedAt().plus(TTL).isBefore(Instant.now())) {
            cached = new CachedRate(rates.fetchRate(from, to).doubleValue(), Instant.now());
            cache.put(key, cached);
        }
        double converted = amount.doubleValue() * cached.rate();
        return BigDecimal.valueOf(converted).setScale(2, RoundingMode.HALF_EVEN);
    }

    private record CachedRate(double rate, Instant fetchedAt) {}
}
