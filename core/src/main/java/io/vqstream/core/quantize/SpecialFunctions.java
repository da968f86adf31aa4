package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
/**
 * Error function and its inverse in double precision (Java has neither), for the normal CDF
 * activation of {@link FSP}.
 *
 * <pre>
 * erf(x)  = 2/√π · Σ_k (−1)^k x^(2k+1) / (k!(2k+1))                  |x| &lt; 2.5
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))   |x| ≥ 2.5
 * erfinv  = Newton iterations on erf from a rational first guess
 * </pre>
 */
@Internal
public final class SpecialFunctions {
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

    private SpecialFunctions() {}

    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a < 2.5) {
            double x2 = x * x;
            double term = x;
            double sum = x;
            for (int k = 1; k < 200; k++) {
                term *= -x2 / k;
                double add = term / (2 * k + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return TWO_OVER_SQRT_PI * sum;
        }
        if (a > 6.5) {
            return Math.signum(x);
        }
        double frac = 0;
        for (int k = 80; k >= 1; k--) {
            frac = (k / 2.0) / (a + frac);
        }
        double erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + frac);
        return Math.signum(x) * (1 - erfc);
    }

    /** The inverse of {@link #erf} on (−1, 1); ±∞ at ±1. */
    public static double erfinv(double y) {
        if (Double.isNaN(y) || y < -1 || y > 1) {
            return Double.NaN;
        }
        if (y == 1) {
            return Double.POSITIVE_INFINITY;
        }
        if (y == -1) {
            return Double.NEGATIVE_INFINITY;
        }
        // first guess (Giles 2010, single-precision branch), then Newton on erf
        double w = -Math.log((1.0 - y) * (1.0 + y));
        double p;
        if (w < 5.0) {
            w = w - 2.5;
            p = 2.81022636e-08;
            p = 3.43273939e-07 + p * w;
            p = -3.5233877e-06 + p * w;
            p = -4.39150654e-06 + p * w;
            p = 0.00021858087 + p * w;
            p = -0.00125372503 + p * w;
            p = -0.00417768164 + p * w;
            p = 0.246640727 + p * w;
            p = 1.50140941 + p * w;
        } else {
            w = Math.sqrt(w) - 3.0;
            p = -0.000200214257;
            p = 0.000100950558 + p * w;
            p = 0.00134934322 + p * w;
            p = -0.00367342844 + p * w;
            p = 0.00573950773 + p * w;
            p = -0.0076224613 + p * w;
            p = 0.00943887047 + p * w;
            p = 1.00167406 + p * w;
            p = 2.83297682 + p * w;
        }
        double x = p * y;
        for (int i = 0; i < 4; i++) {
            double err = erf(x) - y;
            double deriv = TWO_OVER_SQRT_PI * Math.exp(-x * x);
            if (deriv == 0) {
                break;
            }
            x -= err / deriv;
        }
        return x;
    }
}
