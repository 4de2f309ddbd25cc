package com.acme.pricing;

import java.math.BigDecimal;

public class DiscountCalculator {
    /** Price after a percentage discount and a fixed coupon, never below zero. */
    public Money apply(Money price, BigDecimal percent, Money coupon) {
        if (percent.signum() < 0 || percent.compareTo(BigDecimal.valueOf(100)) > 0) {
            throw new IllegalArgumentException("percent must be between 0 and 100, got " + percent);
        }
        Money zero = new Money(BigDecimal.ZERO, price.currency());
        return price.minus(price.percent(percent)).minus(coupon).max(zero);
    }
}
