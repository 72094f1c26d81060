package dev.adamant.bench;

public final class Demo {
    public static void main(String[] args) {
        System.out.println(dev.adamant.core.Optimizers.implementation());
    }
}
