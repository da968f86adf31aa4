package io.vqstream.jobs;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.apache.flink.annotation.Experimental;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.Public;
import org.apache.flink.annotation.PublicEvolving;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The floors of the house: core (no Flink) < state < operators < connectors < jobs, each module
 * using only those below it (bench, on top, is outside this class path and used by none), no
 * cycles between packages, and every public class marked as user API or internal.
 */
class ArchitectureTest {
    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        // main classes of every module below bench; test classes and test jars are left out
        ImportOption mainOnly = location -> !location.contains("/test-classes/") && !location.contains("-tests.jar");
        main = new ClassFileImporter().withImportOption(mainOnly).importPackages("io.vqstream");
    }

    @Test
    void coreUsesNoFlink() {
        noClasses().that().resideInAPackage("io.vqstream.core..")
                .should().dependOnClassesThat(com.tngtech.archunit.base.DescribedPredicate.describe("are Flink classes other than its API annotations",
                        (com.tngtech.archunit.core.domain.JavaClass c) -> c.getPackageName().startsWith("org.apache.flink")
                                && !c.getPackageName().equals("org.apache.flink.annotation")))
                .check(main);
    }

    @Test
    void noModuleUsesOneAboveIt() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("core").definedBy("io.vqstream.core..")
                .layer("state").definedBy("io.vqstream.state..")
                .layer("operators").definedBy("io.vqstream.operators..")
                .layer("connectors").definedBy("io.vqstream.connectors..")
                .layer("jobs").definedBy("io.vqstream.jobs..")
                .whereLayer("jobs").mayNotBeAccessedByAnyLayer()
                .whereLayer("connectors").mayOnlyBeAccessedByLayers("jobs")
                .whereLayer("operators").mayOnlyBeAccessedByLayers("connectors", "jobs")
                .whereLayer("state").mayOnlyBeAccessedByLayers("operators", "connectors", "jobs")
                .check(main);
    }

    @Test
    void noCyclesBetweenPackages() {
        slices().matching("io.vqstream.(**)").should().beFreeOfCycles().check(main);
    }

    @Test
    void everyPublicClassSaysWhetherItIsUserApiOrInternal() {
        classes().that().arePublic().and().areTopLevelClasses()
                .should().beAnnotatedWith(PublicEvolving.class).orShould().beAnnotatedWith(Internal.class)
                .orShould().beAnnotatedWith(Public.class).orShould().beAnnotatedWith(Experimental.class)
                .check(main);
    }

    @Test
    void internalClassesAreNotMarkedAsApiToo() {
        classes().that().areAnnotatedWith(Internal.class).should().notBeAnnotatedWith(PublicEvolving.class).check(main);
        noClasses().that().doNotHaveModifier(JavaModifier.PUBLIC).should().beAnnotatedWith(PublicEvolving.class).check(main);
    }
}
